from sandbox.datagen.cli import main

main()
