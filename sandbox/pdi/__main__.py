from sandbox.pdi.cli import main

main()
