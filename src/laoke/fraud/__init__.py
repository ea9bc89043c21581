"""Fraud rules for referrals."""
