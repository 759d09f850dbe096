"""Jinja filters for sizes and dates."""

from __future__ import annotations

from datetime import datetime

from flask import Flask


def filesize(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def date(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M")


def register(app: Flask) -> None:
    app.add_template_filter(filesize)
    app.add_template_filter(date)
