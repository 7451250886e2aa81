"""Chart geometry for the dashboard, drawn as inline SVG by its template (no JavaScript, no
CDN: the page works offline). Numbers in, coordinates out; the template escapes the labels."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 600
BAR_CHART_WIDTH = 420  # drawn about this wide beside its table: text stays full size
DAY_CHART_HEIGHT = 160
AXIS_GAP = 18  # room for the date labels under the bars
ROW_HEIGHT = 26
LABEL_WIDTH = 120
VALUE_WIDTH = 80


def svg_number(value: float) -> str:
    """A coordinate as SVG wants it ('12.5', '0'), formatted once here: hundreds of them
    through the template's number localization cost a visible share of the page."""
    return f"{round(value, 2):g}"


@dataclass(frozen=True)
class DayBar:
    x: str
    width: str
    calls_y: str
    calls_height: str
    booked_y: str
    booked_height: str
    title: str


@dataclass(frozen=True)
class Row:
    y: float
    label: str
    value: int
    width: float
    text: str


def daily_bars(per_day) -> dict:
    """Calls per day, each bar with its booked part; a date under the first, middle and
    last bars."""
    days = len(per_day) or 1
    top = max((day.calls for day in per_day), default=0) or 1
    plot = DAY_CHART_HEIGHT - AXIS_GAP
    slot = WIDTH / days
    gap = min(2.0, slot * 0.2)
    bars = []
    for index, day in enumerate(per_day):
        calls_h = plot * day.calls / top
        booked_h = plot * day.booked / top
        bars.append(
            DayBar(
                x=svg_number(index * slot + gap / 2),
                width=svg_number(max(slot - gap, 0.5)),
                calls_y=svg_number(plot - calls_h),
                calls_height=svg_number(calls_h),
                booked_y=svg_number(plot - booked_h),
                booked_height=svg_number(booked_h),
                title=f"{day.day:%a %-d %b}: {day.calls} calls, {day.booked} booked",
            )
        )
    marks = sorted({0, days // 2, days - 1}) if per_day else []
    # The first and last labels lean inwards, so neither is cut at the chart's edge.
    anchors = {0: "start", days - 1: "end"}
    ticks = [
        (
            0 if i == 0 else (WIDTH if i == days - 1 else round(i * slot + slot / 2, 2)),
            anchors.get(i, "middle"),
            f"{per_day[i].day:%-d %b}",
        )
        for i in marks
        if i < len(per_day)
    ]
    return {
        "width": WIDTH,
        "height": DAY_CHART_HEIGHT,
        "plot": plot,
        "bars": bars,
        "ticks": ticks,
        "top": max((day.calls for day in per_day), default=0),
    }


def horizontal_bars(items: list[tuple[str, int]], *, unit: str = "") -> dict:
    """One bar per (label, value), proportional to the largest, its number at its end."""
    top = max((value for _, value in items), default=0) or 1
    room = BAR_CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH
    rows = [
        Row(
            y=index * ROW_HEIGHT,
            label=label,
            value=value,
            width=round(room * value / top, 2),
            text=f"{value:,}{unit}",
        )
        for index, (label, value) in enumerate(items)
    ]
    return {
        "width": BAR_CHART_WIDTH,
        "height": max(len(rows), 1) * ROW_HEIGHT,
        "label_width": LABEL_WIDTH,
        "rows": rows,
    }
