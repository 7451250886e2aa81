"""Trying the receptionist without a phone: the staff simulator page, its socket, the terminal.

All three drive the same `calls.session.CallSession` a phone call does (channel "simulator"),
so what staff try here is exactly what a caller gets.
"""
