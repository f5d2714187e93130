"""ht_analytics: typed DataFrames, metrics and reports from the HT Partner API."""
