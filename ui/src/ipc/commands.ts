import { invoke } from "@tauri-apps/api/core";
import type { AppInfo } from "./types";

export const commands = {
  appInfo: (): Promise<AppInfo> => invoke<AppInfo>("app_info"),
};
