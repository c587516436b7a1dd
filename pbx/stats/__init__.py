"""Statistics and reports (F-09, F-16, A-05): call records, queue figures, scheduled reports, the wallboard."""
