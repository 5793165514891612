import "./lib/locale-guard";
import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";
import { theme } from "./lib/state/theme.svelte";

theme.init();

const target = document.getElementById("app");
if (!target) throw new Error("#app is missing from index.html");

export default mount(App, { target });
