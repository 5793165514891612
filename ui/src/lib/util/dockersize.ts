// Sizes as the docker CLI prints them (go-units HumanSize: powers of 1000, four significant digits), so the
// workbench reads the same as `docker system df` and `docker image ls`.

const UNITS = ["B", "kB", "MB", "GB", "TB", "PB"];

export function dockerSize(bytes: number | null | undefined): string {
  if (bytes == null || !Number.isFinite(bytes)) return "–";
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${Number(value.toPrecision(4))}${UNITS[unit]}`;
}

/** "1.2GB (40%)", as `docker system df` shows reclaimable space. */
export function reclaimableText(reclaimable: number, size: number): string {
  return size > 0 ? `${dockerSize(reclaimable)} (${Math.floor((reclaimable * 100) / size)}%)` : dockerSize(reclaimable);
}
