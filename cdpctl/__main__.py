from cdpctl.cli.main import run

run()
