/** A throughput sparkline: finished jobs per minute as an SVG polyline (no chart library needed). */
const SVG = "http://www.w3.org/2000/svg";

export function sparkline(values: number[], label: string, width = 120, height = 24): SVGSVGElement {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "sparkline");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(height));
  svg.setAttribute("role", "img");
  const total = values.reduce((sum, value) => sum + value, 0);
  svg.setAttribute("aria-label", `${label}: ${total} jobs in ${values.length} minutes`);
  const title = document.createElementNS(SVG, "title");
  title.textContent = `${total} jobs finished in the last ${values.length} minutes (peak ${Math.max(0, ...values)}/min)`;
  svg.appendChild(title);
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const points = values.map((value, index) => `${(index * step).toFixed(1)},${(height - 2 - (value / max) * (height - 4)).toFixed(1)}`);
  const area = document.createElementNS(SVG, "polygon");
  area.setAttribute("points", `0,${height} ${points.join(" ")} ${width},${height}`);
  area.setAttribute("class", "area");
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("points", points.join(" "));
  line.setAttribute("class", "line");
  svg.append(area, line);
  return svg;
}
