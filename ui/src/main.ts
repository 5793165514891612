import "./lib/locale-guard";
import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";
import { inServedPage } from "./lib/ipc";
import { theme } from "./lib/state/theme.svelte";

theme.init();

const target = document.getElementById("app");
if (!target) throw new Error("#app is missing from index.html");

// Served by `docktray serve`: the sign-in comes first (web/WebRoot.svelte), then the same App.
export default inServedPage()
  ? mount((await import("./web/WebRoot.svelte")).default, { target, props: { App } })
  : mount(App, { target });
