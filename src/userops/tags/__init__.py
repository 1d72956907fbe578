"""The customer system (客户体系): lifecycle, RFM, order value, frequency, value, attributes."""
