// The tenants section's calls, through the generated commands.
import { commands } from "../bindings";
import { call } from "../ipc/call";
import type { TenantsApi } from "./TenantsSection";

export const tenantsApi: TenantsApi = {
  list: (project) => call(commands.listTenants(project)),
  show: (project, name) => call(commands.showTenant(project, name)),
};
