"""The command-line shell: options in, core calls, a renderer and an exit code out."""
