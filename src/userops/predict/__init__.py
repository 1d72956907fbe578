"""Customer lifetime value and churn risk: BG/NBD and Gamma-Gamma over paid orders."""
