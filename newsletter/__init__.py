"""The weekly digest: selection per subscriber, rendering, mailers and the delivery ledger."""
