// A QR code of a text as SVG (qrcode-generator computes the modules; React draws one path, no
// inline markup or styles, so it passes the strict CSP).

import qrcode from 'qrcode-generator';
import { useMemo } from 'react';

export function QrCode({ text, label, size = 200 }: { text: string; label: string; size?: number }) {
  const { n, d } = useMemo(() => {
    const qr = qrcode(0, 'M');
    // Invite codes are upper-case Crockford base32 with dashes: all in QR's alphanumeric set
    // (0-9 A-Z space $ % * + - . / :), which packs 5.5 bits a character instead of 8, so the
    // code is fewer, larger modules and scans more easily. Anything else goes as bytes.
    qr.addData(text, /^[0-9A-Z $%*+\-./:]*$/.test(text) ? 'Alphanumeric' : 'Byte');
    qr.make();
    const count = qr.getModuleCount();
    let path = '';
    for (let r = 0; r < count; r++) {
      for (let c = 0; c < count; c++) if (qr.isDark(r, c)) path += `M${c + 4} ${r + 4}h1v1h-1z`;
    }
    return { n: count + 8, d: path };
  }, [text]);
  return (
    <svg className="qr" data-testid="invite-qr" role="img" aria-label={label} viewBox={`0 0 ${n} ${n}`} width={size} height={size} shapeRendering="crispEdges">
      <rect width={n} height={n} fill="#fff" />
      <path d={d} fill="#000" />
    </svg>
  );
}
