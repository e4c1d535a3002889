// Test helper: happy-dom has no canvas 2D context, so Chart.js cannot draw there. This gives
// every canvas a context whose drawing calls do nothing (measureText answers a plausible
// width), so real Chart.js instances are built — with their real data — in component tests.

const noop = (): void => {};

export function installFakeCanvas(): void {
  const proto = HTMLCanvasElement.prototype as unknown as {
    getContext: (this: HTMLCanvasElement, kind: string) => unknown;
    toDataURL: (this: HTMLCanvasElement, type?: string) => string;
  };
  proto.getContext = function (this: HTMLCanvasElement) {
    const state: Record<string | symbol, unknown> = {
      canvas: this,
      measureText: (text: string) => ({
        width: text.length * 6,
        actualBoundingBoxAscent: 8,
        actualBoundingBoxDescent: 2,
      }),
      getImageData: () => ({ data: new Uint8ClampedArray(4) }),
      createLinearGradient: () => ({ addColorStop: noop }),
      getLineDash: () => [],
    };
    return new Proxy(state, {
      get: (target, key) => (key in target ? target[key] : noop),
      set: (target, key, value) => {
        target[key] = value;
        return true;
      },
    });
  };
  proto.toDataURL = function (this: HTMLCanvasElement, type = 'image/png') {
    return `data:${type};base64,ZmFrZQ==`;
  };
}
