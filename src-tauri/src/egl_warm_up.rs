//! The first window of the day waited for WebKit to set up EGL in this process: on a machine without a GPU
//! that loads Mesa's software renderer and LLVM and relocates them (45-60 ms on a quiet 2-core VM, much more
//! on a busy one), and WebKit starts its web process only afterwards. The windows opened later did not wait (WebKit keeps that display for the life of
//! the process), which is why the first one opened slower than the others.
//!
//! Once the app has settled, we set up the very EGL display WebKit asks for: the same platform (X11), GDK's
//! own X connection, no attributes. EGL hands out one display per platform and native display, so WebKit
//! later gets this one, already initialised, and goes straight on to start its web process. Nothing is drawn
//! and the display is never terminated (WebKit would keep it anyway). Only on X11; elsewhere WebKit's own
//! path is left as it is.

/// How long after start the display is set up: after the collectors' first rounds and the tray icon, and
/// before the start-up pages are handed back (`footprint`), so the set-up code's pages go with them.
pub const AFTER_START: std::time::Duration = std::time::Duration::from_secs(3);

/// Sets up WebKit's EGL display ahead of the first window. Must run on the GTK main thread (it uses GDK's X
/// connection). Failing is harmless: WebKit then does it itself when the window opens.
pub fn warm_up() {
    let started = std::time::Instant::now();
    match webkit_display().and_then(|display| display.initialize()) {
        Ok(()) => tracing::debug!(
            ms = started.elapsed().as_millis(),
            "set up WebKit's EGL display ahead of the first window"
        ),
        Err(reason) => tracing::debug!(reason, "EGL display not set up ahead of the window"),
    }
}

/// Whether the EGL display WebKit will use is set up already (by `warm_up`, or by an earlier window). Must run
/// on the GTK main thread.
pub fn webkit_display_ready() -> Result<bool, &'static str> {
    webkit_display().map(|display| display.is_initialized())
}

/// The EGL display for GDK's X connection, as WebKit gets it.
fn webkit_display() -> Result<egl::Display, &'static str> {
    use gdkx11::glib::object::{Cast, ObjectType};

    let display = gdkx11::gdk::Display::default().ok_or("no GDK display")?;
    let x11 = display
        .downcast_ref::<gdkx11::X11Display>()
        .ok_or("not an X11 display (WebKit sets up its own EGL display)")?;
    // SAFETY: GDK's X display pointer, valid while the GDK display is (for the life of the app).
    let xdisplay = unsafe { gdkx11::ffi::gdk_x11_display_get_xdisplay(x11.as_ptr()) };
    if xdisplay.is_null() {
        return Err("GDK has no X connection");
    }
    egl::Display::for_x11(xdisplay.cast())
}

/// The few EGL calls needed, found at run time in the EGL library WebKit itself loads (libepoxy opens
/// `libEGL.so.1`), so the app links no GL library of its own.
mod egl {
    use std::ffi::{c_char, c_void, CStr};

    const PLATFORM_X11_KHR: u32 = 0x31D5;
    const EXTENSIONS: i32 = 0x3055;
    const VENDOR: i32 = 0x3053;

    type GetPlatformDisplay = unsafe extern "C" fn(u32, *mut c_void, *const isize) -> *mut c_void;
    type GetPlatformDisplayExt = unsafe extern "C" fn(u32, *mut c_void, *const i32) -> *mut c_void;
    type GetDisplay = unsafe extern "C" fn(*mut c_void) -> *mut c_void;
    type Initialize = unsafe extern "C" fn(*mut c_void, *mut i32, *mut i32) -> u32;
    type QueryString = unsafe extern "C" fn(*mut c_void, i32) -> *const c_char;

    /// An EGL display handle with the two calls made on it.
    pub struct Display {
        handle: *mut c_void,
        initialize: Initialize,
        query: QueryString,
    }

    /// The address of `name` in `lib`, if it has it.
    fn symbol(lib: *mut c_void, name: &CStr) -> Option<*mut c_void> {
        // SAFETY: dlsym on a handle from dlopen, with a NUL-terminated name.
        let address = unsafe { libc::dlsym(lib, name.as_ptr()) };
        (!address.is_null()).then_some(address)
    }

    impl Display {
        /// The display for this X connection, got the way WebKit gets it (WebKit's
        /// `Display::initializeGLDisplayX11`): `eglGetPlatformDisplay` when the client extensions include
        /// EGL_KHR_platform_base, else `eglGetPlatformDisplayEXT` with EGL_EXT_platform_base, else
        /// `eglGetDisplay`. The library is the one WebKit uses (libepoxy opens `libEGL.so.1`) and stays open.
        pub fn for_x11(xdisplay: *mut c_void) -> Result<Self, &'static str> {
            // SAFETY: each symbol is cast to its signature in the EGL 1.5 specification; the library handle is
            // never closed, so the addresses stay valid; `xdisplay` is a live Xlib connection.
            unsafe {
                let lib = libc::dlopen(c"libEGL.so.1".as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL);
                if lib.is_null() {
                    return Err("no libEGL.so.1");
                }
                let (Some(query), Some(initialize)) = (
                    symbol(lib, c"eglQueryString"),
                    symbol(lib, c"eglInitialize"),
                ) else {
                    return Err("libEGL without eglQueryString or eglInitialize");
                };
                let query = std::mem::transmute::<*mut c_void, QueryString>(query);
                let initialize = std::mem::transmute::<*mut c_void, Initialize>(initialize);
                let extensions = query(std::ptr::null_mut(), EXTENSIONS);
                let extensions = if extensions.is_null() {
                    ""
                } else {
                    CStr::from_ptr(extensions).to_str().unwrap_or("")
                };
                let has = |name: &str| extensions.split_ascii_whitespace().any(|e| e == name);
                let mut handle = std::ptr::null_mut();
                if let Some(f) = symbol(lib, c"eglGetPlatformDisplay") {
                    if has("EGL_KHR_platform_base") {
                        let f = std::mem::transmute::<*mut c_void, GetPlatformDisplay>(f);
                        handle = f(PLATFORM_X11_KHR, xdisplay, std::ptr::null());
                    }
                }
                if let Some(f) = symbol(lib, c"eglGetPlatformDisplayEXT") {
                    if handle.is_null() && has("EGL_EXT_platform_base") {
                        let f = std::mem::transmute::<*mut c_void, GetPlatformDisplayExt>(f);
                        handle = f(PLATFORM_X11_KHR, xdisplay, std::ptr::null());
                    }
                }
                if let Some(f) = symbol(lib, c"eglGetDisplay") {
                    if handle.is_null() {
                        let f = std::mem::transmute::<*mut c_void, GetDisplay>(f);
                        handle = f(xdisplay);
                    }
                }
                if handle.is_null() {
                    return Err("no EGL display for the X connection");
                }
                Ok(Self {
                    handle,
                    initialize,
                    query,
                })
            }
        }

        /// `eglInitialize`: loads the driver and sets the display up (a no-op if it is already).
        pub fn initialize(&self) -> Result<(), &'static str> {
            let (mut major, mut minor) = (0, 0);
            // SAFETY: a display handle from EGL and two writable integers.
            match unsafe { (self.initialize)(self.handle, &mut major, &mut minor) } {
                0 => Err("eglInitialize failed"),
                _ => Ok(()),
            }
        }

        /// Whether the display is set up: EGL answers queries on initialised displays only.
        pub fn is_initialized(&self) -> bool {
            // SAFETY: a display handle from EGL; the answer is a static string or NULL.
            !unsafe { (self.query)(self.handle, VENDOR) }.is_null()
        }
    }
}
