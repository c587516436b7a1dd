"""Call records, statistics, the live wallboard stream with alarms, and reports."""
