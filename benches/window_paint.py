"""Times a window's opening from outside the app, by its pixels on the X server (no automation in the app).

A thread polls the X server every few milliseconds: when a top-level window with the given name is viewable, it
reads a few one-pixel rows of it (XGetImage, a few kB each). The timeline of those rows gives:

  - mapped: the window exists and is viewable (GTK has shown it; the web view may still be blank);
  - first content: a row is no longer one flat colour (the page has painted something);
  - complete: every row equals what it shows once the window has settled (the overview with its data).

Used by benches/desktop.py; the rows are at fixed heights of the window (the app bar, the overview's header,
the first cards), chosen from docs/screenshots/overview.png.
"""

import ctypes
import ctypes.util
import threading
import time

_x = ctypes.cdll.LoadLibrary(ctypes.util.find_library("X11") or "libX11.so.6")


class _XImage(ctypes.Structure):
    # The leading fields of Xlib's XImage (enough to read the pixels of a ZPixmap row).
    _fields_ = [("width", ctypes.c_int), ("height", ctypes.c_int), ("xoffset", ctypes.c_int),
                ("format", ctypes.c_int), ("data", ctypes.c_void_p), ("byte_order", ctypes.c_int),
                ("bitmap_unit", ctypes.c_int), ("bitmap_bit_order", ctypes.c_int), ("bitmap_pad", ctypes.c_int),
                ("depth", ctypes.c_int), ("bytes_per_line", ctypes.c_int), ("bits_per_pixel", ctypes.c_int)]


class _XWindowAttributes(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int), ("width", ctypes.c_int), ("height", ctypes.c_int),
                ("border_width", ctypes.c_int), ("depth", ctypes.c_int), ("visual", ctypes.c_void_p),
                ("root", ctypes.c_ulong), ("class", ctypes.c_int), ("bit_gravity", ctypes.c_int),
                ("win_gravity", ctypes.c_int), ("backing_store", ctypes.c_int),
                ("backing_planes", ctypes.c_ulong), ("backing_pixel", ctypes.c_ulong),
                ("save_under", ctypes.c_int), ("colormaps", ctypes.c_ulong), ("map_installed", ctypes.c_int),
                ("map_state", ctypes.c_int), ("all_event_masks", ctypes.c_long),
                ("your_event_mask", ctypes.c_long), ("do_not_propagate_mask", ctypes.c_long),
                ("override_redirect", ctypes.c_int), ("screen", ctypes.c_void_p)]


_ERROR_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
# A window can go away between two calls: Xlib's default handler would exit the process on that error.
_ignore_errors = _ERROR_HANDLER(lambda _display, _event: 0)
_x.XSetErrorHandler(_ignore_errors)
_x.XOpenDisplay.restype = ctypes.c_void_p
_x.XOpenDisplay.argtypes = [ctypes.c_char_p]
_x.XDefaultRootWindow.restype = ctypes.c_ulong
_x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
_x.XQueryTree.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong),
                          ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.POINTER(ctypes.c_ulong)),
                          ctypes.POINTER(ctypes.c_uint)]
_x.XFetchName.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_char_p)]
_x.XFree.argtypes = [ctypes.c_void_p]
_x.XGetWindowAttributes.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(_XWindowAttributes)]
_x.XGetImage.restype = ctypes.POINTER(_XImage)
_x.XGetImage.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_int, ctypes.c_uint,
                         ctypes.c_uint, ctypes.c_ulong, ctypes.c_int]
_x.XDestroyImage.argtypes = [ctypes.POINTER(_XImage)]
_x.XCloseDisplay.argtypes = [ctypes.c_void_p]
_x.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]

_ALL_PLANES = 0xFFFFFFFF
_Z_PIXMAP = 2
_IS_VIEWABLE = 2


class PaintWatcher:
    """Polls the window named `name` from start() until stop(); rows are heights in the window's pixels."""

    def __init__(self, name="Docktray", rows=(27, 157, 313), period=0.01):
        self.name = name.encode()
        self.rows = rows
        self.period = period
        self.samples = []  # (epoch, viewable, [row bytes or None])
        self._stop = threading.Event()
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(5)

    def _find(self, display, root):
        root_ret, parent, children, count = ctypes.c_ulong(), ctypes.c_ulong(), \
            ctypes.POINTER(ctypes.c_ulong)(), ctypes.c_uint()
        if not _x.XQueryTree(display, root, ctypes.byref(root_ret), ctypes.byref(parent), ctypes.byref(children),
                             ctypes.byref(count)):
            return None
        found = None
        try:
            for i in range(count.value):
                name = ctypes.c_char_p()
                if _x.XFetchName(display, children[i], ctypes.byref(name)) and name.value is not None:
                    matches = name.value == self.name
                    _x.XFree(name)
                    if matches:
                        found = children[i]
        finally:
            if children:
                _x.XFree(children)
        return found

    def _row(self, display, window, y, width):
        image = _x.XGetImage(display, window, 0, y, width, 1, _ALL_PLANES, _Z_PIXMAP)
        if not image:
            return None
        try:
            img = image.contents
            return ctypes.string_at(img.data, img.bytes_per_line)
        finally:
            _x.XDestroyImage(image)

    def _run(self):
        display = _x.XOpenDisplay(None)
        if not display:
            raise RuntimeError("cannot open the X display")
        root = _x.XDefaultRootWindow(display)
        window = None
        try:
            while not self._stop.is_set():
                now = time.time()
                if window is None:
                    window = self._find(display, root)
                rows, viewable = None, False
                if window is not None:
                    attrs = _XWindowAttributes()
                    if _x.XGetWindowAttributes(display, window, ctypes.byref(attrs)):
                        viewable = attrs.map_state == _IS_VIEWABLE
                        if viewable:
                            rows = [self._row(display, window, y, attrs.width) if y < attrs.height else None
                                    for y in self.rows]
                    else:
                        window = None
                self.samples.append((now, viewable, rows))
                time.sleep(self.period)
        finally:
            _x.XCloseDisplay(display)

    def timings(self, since):
        """Milliseconds after `since` (epoch s) to mapped, first content and complete; None where not seen."""
        def flat(row):
            return row is None or len(set(row[i:i + 4] for i in range(0, len(row), 4))) <= 1

        def after(t):
            return round(1000 * (t - since), 1)

        shown = [(t, rows) for t, viewable, rows in self.samples if viewable and rows]
        out = {"mapped_ms": None, "first_content_ms": None, "complete_ms": None, "samples": len(self.samples)}
        if not shown:
            return out
        out["mapped_ms"] = after(shown[0][0])
        final = shown[-1][1]
        for t, rows in shown:
            if out["first_content_ms"] is None and any(not flat(r) for r in rows):
                out["first_content_ms"] = after(t)
            if rows == final and all(not flat(r) for r in rows):
                out["complete_ms"] = after(t)
                break
        return out
