// `/docs` of `docktray serve`: the API reference, rendered from the server's own OpenAPI document.
import { mount } from "svelte";
import "../app.css";
import { theme } from "../lib/state/theme.svelte";
import ApiDocs from "./ApiDocs.svelte";

theme.init();

const target = document.getElementById("app");
if (!target) throw new Error("#app is missing from docs.html");

export default mount(ApiDocs, { target });
