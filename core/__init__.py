"""The engine: the Amazon source, the pipeline from ledger to targets, the hookspecs and the CLI."""
