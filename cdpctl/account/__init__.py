"""The provider account a mapping file depends on: read it (`account pull`), keep it as a
snapshot beside the mapping file, and check mappings and runs against it.

Modules: `snapshot` (the model and its JSON file), `references` (what a mapping file names in
the account), `readers` (one read plan per provider, over the endpoints its provider module
declares), `pull` (bounded HTTP reads), `checks` (what `validate` reports), `runs` (dry runs
and `--check-account`). Nothing here prints.
"""
