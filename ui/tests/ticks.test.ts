// Axis labels of the charts: decimals from the tick spacing, one unit per axis, no label twice.
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import {
  BINARY_STEPS,
  byteTicks,
  decimalsFor,
  numberTicks,
  percentTicks,
  pickTimeStep,
  timeSpace,
  timeSplits,
  timeTicks,
  valueTicks,
} from "../src/lib/util/ticks";

/** Ticks from 0 to top, `step` apart (what uPlot hands the label function for a range starting at 0). */
const ladder = (top: number, step: number) => Array.from({ length: Math.floor(top / step + 1e-9) + 1 }, (_, i) => i * step);

describe("percent ticks", () => {
  test("a quiet container's CPU axis shows the decimals its spacing needs", () => {
    // The README's old chart: "1 %, 0 %, 0 %, 0 %".
    expect(percentTicks(ladder(1, 0.25), 0.25)).toEqual(["0.00 %", "0.25 %", "0.50 %", "0.75 %", "1.00 %"]);
    expect(percentTicks(ladder(0.6, 0.2), 0.2)).toEqual(["0.0 %", "0.2 %", "0.4 %", "0.6 %"]);
    expect(percentTicks(ladder(0.05, 0.01), 0.01)).toEqual(["0.00 %", "0.01 %", "0.02 %", "0.03 %", "0.04 %", "0.05 %"]);
  });

  test("whole-number spacing has no decimals", () => {
    expect(percentTicks(ladder(100, 20), 20)).toEqual(["0 %", "20 %", "40 %", "60 %", "80 %", "100 %"]);
    expect(percentTicks(ladder(250, 50), 50)).toEqual(["0 %", "50 %", "100 %", "150 %", "200 %", "250 %"]);
  });

  test("labels never repeat for any spacing uPlot picks", () => {
    for (const exp of [-3, -2, -1, 0, 1, 2]) {
      for (const m of [1, 2, 2.5, 5]) {
        const step = m * 10 ** exp;
        const labels = percentTicks(ladder(step * 6, step), step);
        expect(new Set(labels).size, `step ${step}: ${labels}`).toBe(labels.length);
      }
    }
  });

  test("decimals follow the step, and floating-point noise does not add any", () => {
    expect(decimalsFor(0.1 + 0.2)).toBe(1);
    expect(decimalsFor(2.5)).toBe(1);
    expect(decimalsFor(0.125)).toBe(3);
    expect(decimalsFor(1000)).toBe(0);
    expect(percentTicks([-0.00001, 0.5], 0.5)).toEqual(["0.0 %", "0.5 %"]);
  });
});

describe("byte ticks", () => {
  const MiB = 1024 ** 2;
  const GiB = 1024 ** 3;

  test("one unit for the whole axis, the largest tick's", () => {
    expect(byteTicks(ladder(2 * GiB, 512 * MiB), 512 * MiB)).toEqual(["0", "0.5 GiB", "1.0 GiB", "1.5 GiB", "2.0 GiB"]);
    expect(byteTicks(ladder(64 * MiB, 16 * MiB), 16 * MiB)).toEqual(["0", "16 MiB", "32 MiB", "48 MiB", "64 MiB"]);
  });

  test("a spacing that would need three decimals uses the next smaller unit", () => {
    // 128 MiB steps up to 1 GiB would be 0.125 GiB.
    expect(byteTicks(ladder(GiB, 128 * MiB), 128 * MiB)).toEqual([
      "0", "128 MiB", "256 MiB", "384 MiB", "512 MiB", "640 MiB", "768 MiB", "896 MiB", "1024 MiB",
    ]);
  });

  test("a small container's memory does not round to one label", () => {
    // 1.5 MiB in use, 256 KiB steps: MiB with two decimals, not "1 MiB, 1 MiB, 2 MiB".
    const labels = byteTicks(ladder(1.5 * MiB, 256 * 1024), 256 * 1024);
    expect(labels).toEqual(["0", "0.25 MiB", "0.50 MiB", "0.75 MiB", "1.00 MiB", "1.25 MiB", "1.50 MiB"]);
  });

  test("rates carry /s", () => {
    expect(byteTicks([0, 512, 1024], 512, "/s")).toEqual(["0", "0.5 KiB/s", "1.0 KiB/s"]);
    expect(valueTicks({ kind: "bytes", perSecond: true }, [0, 2048], 2048)).toEqual(["0", "2 KiB/s"]);
  });

  test("labels never repeat for any binary spacing and range", () => {
    for (const step of BINARY_STEPS.slice(0, 45)) {
      for (const n of [2, 4, 6, 9]) {
        const labels = byteTicks(ladder(step * n, step), step);
        expect(new Set(labels).size, `step ${step} x ${n}: ${labels}`).toBe(labels.length);
      }
    }
  });
});

describe("number ticks", () => {
  test("Webdock's GB and MiB axes and plain counts", () => {
    expect(numberTicks([0, 2.5, 5, 7.5], 2.5, "GB")).toEqual(["0.0 GB", "2.5 GB", "5.0 GB", "7.5 GB"]);
    expect(numberTicks([0, 50, 100], 50)).toEqual(["0", "50", "100"]);
    expect(valueTicks({ kind: "number", unit: "MiB" }, [0, 0.5, 1], 0.5)).toEqual(["0.0 MiB", "0.5 MiB", "1.0 MiB"]);
  });
});

describe("time ticks", () => {
  // A zone with daylight saving time, so day and hour alignment meet a 23 h and a 25 h day.
  beforeAll(() => {
    vi.stubEnv("TZ", "Europe/Berlin");
  });
  afterAll(() => {
    vi.unstubAllEnvs();
  });

  const MIN = 60;
  const HOUR = 3600;
  const DAY = 86400;
  // Spans from one minute to seven days, and the chart widths of the window (a chart is 280-1100 px wide).
  const SPANS = [MIN, 90, 2 * MIN, 5 * MIN, 10 * MIN, 15 * MIN, 30 * MIN, HOUR, 3 * HOUR, 12 * HOUR, DAY, DAY + 5 * MIN, 30 * HOUR, 36 * HOUR, 2 * DAY, 3 * DAY, 7 * DAY];
  const WIDTHS = [280, 360, 500, 700, 1100];
  // Ends of the window: a plain afternoon, just after midnight, and across the autumn and spring DST changes.
  const ENDS = ["2026-11-23T21:07:13+01:00", "2026-11-24T00:03:41+01:00", "2026-10-25T05:30:00+01:00", "2026-03-29T04:10:00+02:00"].map(
    (iso) => Date.parse(iso) / 1000,
  );

  function axis(span: number, width: number, end: number) {
    const min = end - span;
    const step = pickTimeStep(span, width, timeSpace(span));
    const splits = timeSplits(min, end, step);
    return { step, splits, labels: timeTicks(splits, step) };
  }

  test("no label twice, from one minute to seven days, at every width", () => {
    for (const span of SPANS) {
      for (const width of WIDTHS) {
        for (const end of ENDS) {
          const { labels, splits } = axis(span, width, end);
          expect(new Set(labels).size, `span ${span} s, ${width} px: ${labels.join(", ")}`).toBe(labels.length);
          expect(splits.every((s) => s >= end - span && s <= end)).toBe(true);
        }
      }
    }
  });

  test("ticks stay far enough apart and there are at least two on a live chart", () => {
    for (const span of SPANS) {
      for (const width of WIDTHS) {
        const { step, splits } = axis(span, width, ENDS[0]);
        expect(step * (width / span)).toBeGreaterThanOrEqual(timeSpace(span));
        if (span <= DAY) expect(splits.length, `span ${span} s at ${width} px`).toBeGreaterThanOrEqual(2);
      }
    }
  });

  test("a live window of seconds shows seconds, not '21:07, 21:07'", () => {
    const { labels, step } = axis(MIN, 500, ENDS[0]);
    expect(step).toBeLessThan(MIN);
    expect(labels.every((l) => /^\d\d:\d\d:\d\d$/.test(l))).toBe(true);
    expect(labels).toContain("21:06:30");
  });

  test("a 15-minute window shows minutes", () => {
    const { labels } = axis(15 * MIN, 500, ENDS[0]);
    expect(labels.every((l) => /^\d\d:\d\d$/.test(l))).toBe(true);
    expect(labels).toContain("21:00");
  });

  test("midnight is shown as the date", () => {
    const { labels } = axis(HOUR, 700, ENDS[1]);
    expect(labels).toContain("Nov 24");
    expect(labels).toContain("23:30");
  });

  test("a day just over 24 h gives the first tick of each day its date instead of repeating the hour", () => {
    const end = Date.parse("2026-11-23T21:05:00+01:00") / 1000;
    const splits = timeSplits(end - DAY - 10 * MIN, end, 3 * HOUR);
    const labels = timeTicks(splits, 3 * HOUR);
    expect(labels[0]).toBe("Nov 22 21:00");
    expect(labels).toContain("Nov 23");
    expect(labels[labels.length - 1]).toBe("21:00");
    expect(new Set(labels).size).toBe(labels.length);
  });

  test("a week is labelled by dates at local midnight, across a DST change", () => {
    const end = ENDS[2];
    const { labels, splits, step } = axis(7 * DAY, 700, end);
    expect(step).toBeGreaterThanOrEqual(DAY);
    expect(labels.every((l) => /^[A-Z][a-z]{2} \d{1,2}$/.test(l))).toBe(true);
    expect(splits.every((s) => new Date(s * 1000).getHours() === 0)).toBe(true);
    expect(labels).toContain("Oct 25");
  });

  test("over a day and a half, hours are not used (they would repeat under every day)", () => {
    for (const width of WIDTHS) expect(axis(2 * DAY, width, ENDS[0]).step).toBeGreaterThanOrEqual(DAY);
  });
});
