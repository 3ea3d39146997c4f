// The tenants section's calls, through the generated commands (the per-tenant backup through the
// store, so its job shows like every other).
import { commands } from "../bindings";
import { call } from "../ipc/call";
import type { TenantsApi } from "./TenantsSection";

export function tenantsApi(startTenantBackup: TenantsApi["backUp"]): TenantsApi {
  return {
    list: (project) => call(commands.listTenants(project)),
    show: (project, name) => call(commands.showTenant(project, name)),
    add: (project, name, table, key) => call(commands.addTenant(project, name, table, key)),
    remove: (project, name) => call(commands.removeTenant(project, name)),
    backUp: startTenantBackup,
  };
}
