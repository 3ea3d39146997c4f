// The engine's encryption settings (generated bindings) mapped onto what EncryptionSetup draws
// and takes (./types.ts). No rule is decided here.
import { commands, type EncryptionSettings } from "../bindings";
import { call, type Call } from "../ipc/call";
import type { EncryptionApi, EncryptionView } from "./types";

export function encryptionView(s: EncryptionSettings): EncryptionView {
  return { mode: s.mode, publicKey: s.public_key ?? null, recipients: s.recipients ?? [], confirmed: s.confirmed };
}

function mapped<A, B>(r: Call<A>, f: (a: A) => B): Call<B> {
  return r.ok ? { ok: true, data: f(r.data) } : r;
}

export function encryptionApi(project: string): EncryptionApi {
  return {
    set: async (req) =>
      mapped(await call(commands.setEncryption(project, { mode: req.mode, passphrase: req.passphrase, recipients: req.recipients })), (r) => ({
        settings: encryptionView(r.settings),
        recoveryItem: r.recovery_item ?? null,
      })),
    confirm: async (item) => mapped(await call(commands.confirmRecovery(project, item)), encryptionView),
    saveFile: async () => call(commands.saveRecoveryFile(project)),
  };
}
