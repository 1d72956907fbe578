from userops.cli.main import main

main()
