"""Keeping mapping files and a Segment workspace in step through Segment's Public API.

`api` builds the Public API's requests and reads its answers (pure data), `client` sends them
within the write limit, `compare` says how a mapping file and the workspace differ, `filetext`
edits a mapping file's text in place (ids written back, pull into an existing file) and
`sync` runs pull, status and push on top of them. Nothing here prints.
"""
