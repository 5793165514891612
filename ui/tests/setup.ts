// jsdom lacks what uPlot and the views touch: matchMedia, ResizeObserver, a 2D canvas context and Path2D.
// These stand-ins do nothing but let real components mount.

if (!window.matchMedia) {
  window.matchMedia = (query: string): MediaQueryList =>
    ({
      matches: false,
      media: query,
      onchange: null,
      addEventListener: () => {},
      removeEventListener: () => {},
      addListener: () => {},
      removeListener: () => {},
      dispatchEvent: () => false,
    }) as MediaQueryList;
}

if (!("ResizeObserver" in window)) {
  class ResizeObserverStub {
    observe() {}
    unobserve() {}
    disconnect() {}
  }
  Object.assign(window, { ResizeObserver: ResizeObserverStub });
  Object.assign(globalThis, { ResizeObserver: ResizeObserverStub });
}

if (!("Path2D" in globalThis)) {
  class Path2DStub {
    moveTo() {}
    lineTo() {}
    rect() {}
    arc() {}
    bezierCurveTo() {}
    quadraticCurveTo() {}
    closePath() {}
    addPath() {}
  }
  Object.assign(globalThis, { Path2D: Path2DStub });
}

// A 2D context whose every method is a no-op and whose measureText answers something plausible.
const context = new Proxy(
  {},
  {
    get(_target, prop) {
      if (prop === "measureText") return (text: string) => ({ width: text.length * 6 });
      if (prop === "canvas") return document.createElement("canvas");
      return () => {};
    },
    set() {
      return true;
    },
  },
);
HTMLCanvasElement.prototype.getContext = (() => context) as unknown as HTMLCanvasElement["getContext"];

// Element.scrollTo and friends are missing in jsdom.
if (!Element.prototype.scrollTo) Element.prototype.scrollTo = () => {};
