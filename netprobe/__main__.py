from netprobe.cli import run

run()
