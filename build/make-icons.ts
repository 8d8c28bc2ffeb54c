// Draws the app icon and writes every file electron-builder.yml names, with no image tool:
//   build/icon.png              1024 px (the source; electron-builder wants >= 512 for macOS)
//   build/icon.icns             macOS: PNG entries 16-1024 px (ic04..ic10, PNG since OS X 10.7)
//   build/icon.ico              Windows: PNG entries 16-256 px (PNG-in-ICO since Vista)
//   build/icons/<n>x<n>.png     Linux: one file per size, as the AppImage and deb targets expect
// so no conversion happens at packaging time. Run: node build/make-icons.ts
//
// The picture: a blue rounded square, a white note with three lines, and two linked dots (two
// laptops in sync). Shapes are signed-distance functions sampled 4x4 per pixel (antialiased).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';

const OUT = import.meta.dirname;

type RGBA = readonly [number, number, number, number];

/** Distance to a rounded box centred at (cx, cy), half-size (hx, hy), radius r (negative inside). */
function roundedBox(x: number, y: number, cx: number, cy: number, hx: number, hy: number, r: number): number {
  const qx = Math.abs(x - cx) - hx + r;
  const qy = Math.abs(y - cy) - hy + r;
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - r;
}

function circle(x: number, y: number, cx: number, cy: number, r: number): number {
  return Math.hypot(x - cx, y - cy) - r;
}

/** Distance to the segment (ax, ay)-(bx, by), thickened by r. */
function capsule(x: number, y: number, ax: number, ay: number, bx: number, by: number, r: number): number {
  const px = x - ax, py = y - ay, dx = bx - ax, dy = by - ay;
  const t = Math.max(0, Math.min(1, (px * dx + py * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - t * dx, py - t * dy) - r;
}

/** The colour at (x, y) in the unit square, or null outside the icon. */
function shade(x: number, y: number): RGBA | null {
  if (roundedBox(x, y, 0.5, 0.5, 0.45, 0.45, 0.1) > 0) return null;
  // Two linked dots at the lower right, over the sheet's corner, with a ring that sets them off.
  const dots: [number, number][] = [[0.64, 0.74], [0.79, 0.62]];
  const link = (pad: number): boolean =>
    dots.some(([cx, cy]) => circle(x, y, cx, cy, 0.065 + pad) <= 0) || capsule(x, y, dots[0][0], dots[0][1], dots[1][0], dots[1][1], 0.022 + pad) <= 0;
  if (link(0)) return [0x3d, 0xd6, 0x8c, 255];
  if (link(0.025)) return [0x1f, 0x52, 0xc8, 255];
  // The note (white sheet) and its lines.
  if (roundedBox(x, y, 0.47, 0.46, 0.24, 0.29, 0.04) <= 0) {
    for (const [ly, len] of [[0.33, 0.3], [0.43, 0.3], [0.53, 0.2]] as const) {
      if (capsule(x, y, 0.32, ly, 0.32 + len, ly, 0.018) <= 0) return [0x9a, 0xb3, 0xd6, 255];
    }
    return [0xfb, 0xfc, 0xfe, 255];
  }
  // Background: a vertical blue gradient.
  const t = (y - 0.05) / 0.9;
  return [Math.round(0x3b + (0x1d - 0x3b) * t), Math.round(0x7d + (0x4e - 0x7d) * t), Math.round(0xf0 + (0xc4 - 0xf0) * t), 255];
}

/** RGBA pixels of the icon at `size` px, 4x4 samples per pixel. */
function render(size: number): Uint8Array {
  const px = new Uint8Array(size * size * 4);
  const S = 4;
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sj = 0; sj < S; sj++) {
        for (let si = 0; si < S; si++) {
          const c = shade((i + (si + 0.5) / S) / size, (j + (sj + 0.5) / S) / size);
          if (c === null) continue;
          // Premultiplied accumulation, so edges blend towards transparent, not black.
          r += c[0] * c[3]; g += c[1] * c[3]; b += c[2] * c[3]; a += c[3];
        }
      }
      const o = (j * size + i) * 4;
      if (a > 0) {
        px[o] = Math.round(r / a); px[o + 1] = Math.round(g / a); px[o + 2] = Math.round(b / a);
        px[o + 3] = Math.round(a / (S * S));
      }
    }
  }
  return px;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

function png(size: number): Buffer {
  const px = render(size);
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let j = 0; j < size; j++) {
    raw[j * (size * 4 + 1)] = 0; // filter: none
    raw.set(px.subarray(j * size * 4, (j + 1) * size * 4), j * (size * 4 + 1) + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', new Uint8Array())]);
}

const pngs = new Map<number, Buffer>();
const pngOf = (size: number): Buffer => {
  let b = pngs.get(size);
  if (!b) pngs.set(size, (b = png(size)));
  return b;
};

function icns(): Buffer {
  const entries: [string, number][] = [['icp4', 16], ['icp5', 32], ['ic07', 128], ['ic08', 256], ['ic09', 512], ['ic10', 1024], ['ic11', 32], ['ic12', 64], ['ic13', 256], ['ic14', 512]];
  const parts = entries.map(([type, size]) => {
    const data = pngOf(size);
    const head = Buffer.alloc(8);
    head.write(type, 0, 'latin1');
    head.writeUInt32BE(data.length + 8, 4);
    return Buffer.concat([head, data]);
  });
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(8);
  head.write('icns', 0, 'latin1');
  head.writeUInt32BE(body.length + 8, 4);
  return Buffer.concat([head, body]);
}

function ico(): Buffer {
  const sizes = [16, 24, 32, 48, 64, 128, 256];
  const header = Buffer.alloc(6);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2); // icon
  header.writeUInt16LE(sizes.length, 4);
  const dir = Buffer.alloc(16 * sizes.length);
  let offset = 6 + dir.length;
  sizes.forEach((size, k) => {
    const data = pngOf(size);
    const e = k * 16;
    dir[e] = size === 256 ? 0 : size; // 0 means 256
    dir[e + 1] = size === 256 ? 0 : size;
    dir.writeUInt16LE(1, e + 4); // planes
    dir.writeUInt16LE(32, e + 6); // bits per pixel
    dir.writeUInt32LE(data.length, e + 8);
    dir.writeUInt32LE(offset, e + 12);
    offset += data.length;
  });
  return Buffer.concat([header, dir, ...sizes.map(pngOf)]);
}

export const LINUX_SIZES = [16, 32, 48, 64, 128, 256, 512] as const;

if (import.meta.main) {
  writeFileSync(join(OUT, 'icon.png'), pngOf(1024));
  writeFileSync(join(OUT, 'icon.icns'), icns());
  writeFileSync(join(OUT, 'icon.ico'), ico());
  mkdirSync(join(OUT, 'icons'), { recursive: true });
  for (const size of LINUX_SIZES) writeFileSync(join(OUT, 'icons', `${size}x${size}.png`), pngOf(size));
  console.log(`wrote icon.png, icon.icns, icon.ico and icons/*.png in ${OUT}`);
}
