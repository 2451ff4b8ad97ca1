from sandbox.mobilize.cli import main

main()
