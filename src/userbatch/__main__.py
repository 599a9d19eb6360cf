from userbatch.cli import main

main()
