// The audience chart of 数据反馈 (the live curve on the 数据反馈 page, each airing's curve on a
// work's page): ECharts (vendored, 1 MB, loaded once and only when such a page opens), one
// line per platform, the total as a thick line with marked intervals (programmes on air), the
// interactions as bars on a second axis, the time axis in Beijing time. Owns the chart's
// look; the pages own what they show around it.

import { t } from './i18n.js';
import { wallTime } from './util.js';

let echartsLoading = null;
/// Loads the vendored ECharts once; rejects with a translated message if it cannot.
export function loadEcharts() {
  if (globalThis.echarts) return Promise.resolve(globalThis.echarts);
  if (!echartsLoading) {
    echartsLoading = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = '/assets/vendor/echarts.min.js';
      s.onload = () => resolve(globalThis.echarts);
      s.onerror = () => reject(new Error(t('fb_chart_unavailable')));
      document.head.append(s);
    });
  }
  return echartsLoading;
}

/// A platform's name in the user's language (its id when there is no translation).
export const platformName = (p) => (t(`platform_${p}`) === `platform_${p}` ? p : t(`platform_${p}`));

/// The chart's options for `curve` ({minutes, platforms: {p: [..]}, total, interactions}, as
/// the API answers, ms and counts per minute); `marks` are [{name, from_ms, to_ms}] shaded
/// on the total, with `markOpacity`.
export function audienceOption(curve, marks, markOpacity = 0.12) {
  const pair = (vals) => curve.minutes.map((m, i) => [m, vals[i]]);
  const series = Object.entries(curve.platforms).map(([p, vals]) => ({
    name: platformName(p), type: 'line', showSymbol: false, data: pair(vals),
  }));
  series.push({
    name: t('fb_total_series'), type: 'line', showSymbol: false, lineStyle: { width: 3 }, data: pair(curve.total),
    markArea: {
      silent: true, itemStyle: { opacity: markOpacity }, label: { position: 'insideTop', fontSize: 11 },
      data: marks.map((m) => [{ name: m.name, xAxis: m.from_ms }, { xAxis: m.to_ms }]),
    },
  });
  series.push({ name: t('fb_interactions'), type: 'bar', yAxisIndex: 1, data: pair(curve.interactions), itemStyle: { opacity: 0.5 } });
  return {
    animation: false,
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 48, right: 48, top: 36, bottom: 28 },
    xAxis: { type: 'time', axisLabel: { formatter: (v) => wallTime(v).slice(0, 5) } },
    yAxis: [{ type: 'value', name: t('fb_viewers'), minInterval: 1 }, { type: 'value', name: t('fb_interactions'), minInterval: 1 }],
    series,
  };
}
