/* Debian 12's Wine (8.0) lacks bcryptprimitives.dll, whose ProcessPrng the Rust standard library
 * (1.78+) takes its random bytes from on Windows; every Rust program then fails to start under it.
 * .ci/wine-tests builds this stand-in with mingw-w64 into its throwaway Wine prefix only: the
 * same function over advapi32's RtlGenRandom (SystemFunction036), Wine's own CSPRNG. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, n))
            return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
