// Chart.js on a canvas, with a label for screen readers and the figures as a
// table beside it, so nothing is only in the picture.
import { useEffect, useRef } from "react";
import { Chart, registerables, type ChartConfiguration } from "chart.js";

Chart.register(...registerables);

export function ChartView({ config, label, testid }: { config: ChartConfiguration; label: string; testid: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const chart = new Chart(canvas.current, {
      ...config,
      options: { animation: false, responsive: true, maintainAspectRatio: false, ...config.options },
    });
    return () => chart.destroy();
  }, [JSON.stringify(config.data), JSON.stringify(config.options), config.type]);
  return (
    <div className="chart">
      <canvas ref={canvas} role="img" aria-label={label} data-testid={testid} />
    </div>
  );
}
