import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
// The app's stylesheet, by area; the order is the cascade order.
import "./styles/theme.css";
import "./styles/base.css";
import "./styles/layout.css";
import "./styles/forms.css";
import "./styles/jobs.css";

const root = document.getElementById("root");
if (!root) throw new Error("missing #root element");

createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
