"""The report's HTML tables fit a 1200 px window, every cell on one line, in headless Chromium
(Debian's /usr/bin/chromium; never a browser download), on a report with the realistic number
of rows and columns: four configurations, the teacher and the retrieval baseline, every metric
(the execution metrics too), and the widest numbers a cell can hold (100.0 [100.0, 100.0],
-100.00 [-100.00, -100.00])."""
from __future__ import annotations

import struct
from pathlib import Path

import pytest

from report_helpers import METHOD_COMPONENTS, inference, make_run
from trident.analysis.report import build_report, parser

CHROMIUM = Path("/usr/bin/chromium")
WIDTH = 1200
PRESETS = METHOD_COMPONENTS
# preset -> (right, broken, executed): the baseline gets everything right (100.0 with a zero-width
# interval), gkd half (the widest intervals), the retrieval row nothing (Δ -100.00 [-100.00, -100.00]).
PLAN = {"trident-v1": (10, 0, 10), "trident-v1-hidden": (8, 1, 7), "trident-v1-seqkd": (7, 0, 6),
        "trident-v1-gkd": (5, 5, 5)}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-runs")
    # The teacher's inference figures are CodeT5+ 770M's order of size (the widest cells: four digits).
    teacher = make_run(root, "teacher-0123456789ab", {"ce": {"start": 1.0}}, 42, 9, 0, 300.0, role="teacher",
                       executed=9, inference=inference(3_100_000_000, 4123.4, 2345.6))
    dirs = [make_run(root, f"methods-t{k:03d}", PRESETS[p], 0, *PLAN[p][:2], 100.0 + 10 * k,
                     teacher=str(teacher / "model"), executed=PLAN[p][2],
                     inference=inference(900_000_000 + k, 1234.5, 987.6 + k)) for k, p in enumerate(PLAN)]
    retrieval = make_run(root, "methods-retrieval", {"ce": {"start": 1.0}}, 0, 0, 10, 1.0, role="baseline",
                         executed=0)
    out = tmp_path_factory.mktemp("browser-report")
    return build_report(parser().parse_args(["--runs", *map(str, dirs), str(retrieval), "--baseline", "trident-v1",
                                             "--out", str(out), "--no-png", "--bootstrap=200",
                                             "--beta-storage=none", "--contrastive-storage=none"]))


def test_the_report_has_the_realistic_rows_and_columns(report):
    c = report.comparison
    assert [row.label for row in c.rows] == ["trident-v1 (β=5)", "trident-v1-gkd (β=5)", "trident-v1-hidden (β=5)",
                                             "trident-v1-seqkd (β=5)", "teacher", "retrieval"]
    assert all(row.cells[m].value is not None for row in c.rows for m in row.cells)  # all ten metrics
    html = report.html_path.read_text()
    for key in ("metrics", "metrics-2", "deltas", "deltas-2", "cost", "checks"):
        assert f'id="{key}"' in html
    for widest in ("100.0 [100.0, 100.0]", "-100.00 [-100.00, -100.00]", "trident-v1 (β=5) (baseline)",
                   "<td>4123</td>"):
        assert widest in html
    # One student/teacher line per configuration under the tables (the page-width check covers them).
    start = html.index('<div id="student-teacher">')
    shares = html[start:html.index("</div>", start)]
    assert shares.count("<li>trident-v1") == 4 and shares.count(" vs teacher: keeps ") == 4


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])  # the IHDR chunk: width, height


def test_tables_fit_1200_px_with_every_cell_on_one_line(report, tmp_path):
    if not CHROMIUM.exists():  # make setup and .ci/run install Debian's chromium: a missing browser is a failure
        pytest.fail("no /usr/bin/chromium: `make setup` installs it (as root)")
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"]
    shot = tmp_path / "report.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), args=args, headless=True,
            viewport={"width": WIDTH, "height": 900})
        try:
            page = browser.new_page()
            page.goto(report.html_path.as_uri())
            n = len(report.figure_keys)  # the figures drawn, so the page has its final layout
            page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {n}",
                                   timeout=30_000)
            tables = page.evaluate("""[...document.querySelectorAll('table.comparison')].map(t => {
                const box = t.getBoundingClientRect();
                return {id: t.id, left: box.left, right: box.right, width: box.width, rows: t.rows.length};
            })""")
            page_width = page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
            cells = page.evaluate("""[...document.querySelectorAll('table.comparison th, table.comparison td')]
                .map(c => {
                    const s = getComputedStyle(c);
                    return {text: c.textContent, line: parseFloat(s.lineHeight),
                            content: c.clientHeight - parseFloat(s.paddingTop) - parseFloat(s.paddingBottom),
                            scroll: c.scrollWidth, client: c.clientWidth};
                })""")
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert [t["id"] for t in tables] == ["metrics", "metrics-2", "deltas", "deltas-2", "cost", "checks"]
    assert [t["rows"] for t in tables] == [7, 7, 6, 6, 7, 7]  # a header and a row per configuration
    for t in tables:
        assert t["width"] <= WIDTH and t["left"] >= 0 and t["right"] <= WIDTH, t
    assert page_width <= WIDTH  # nothing on the page scrolls sideways
    assert _png_size(shot)[0] == WIDTH
    # rows × columns: metrics 7 × (label, seeds, 5 metrics), metrics-2 7 × 6, Δs 6 × 6 twice,
    # cost 7 × (label, wall time, size, memory, p50, NaN/Inf), checks 7 × (label, 4 checks)
    assert len(cells) == 7 * 7 + 7 * 6 + 6 * 6 * 2 + 7 * 6 + 7 * 5
    for cell in cells:
        # One line: the content box holds a single line box (two would be twice the line height),
        # and nothing is cut off sideways.
        assert cell["content"] < 1.5 * cell["line"], cell
        assert cell["scroll"] <= cell["client"], cell
