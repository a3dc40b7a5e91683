using System.Runtime.InteropServices;

namespace WeSaR.Model;

/// <summary>
/// Keeps glibc from handing LibTorch's freed memory back to the kernel after every step. By default glibc trims the
/// heap and serves large tensors by mmap, so each step returns its activations and pages them in again (minor faults
/// and kernel time on every step). Told not to, freed memory stays in the process for the next step: the cost is that
/// resident memory stays at the step's peak (plus up to 1 GiB of free heap) instead of dropping between steps.
/// Blocks of 256 MiB and more are still mmapped and returned. Set GLIBC_TUNABLES with malloc keys to choose yourself.
/// </summary>
public static class NativeHeap
{
    const int TrimThreshold = -1, MmapThreshold = -3;   // M_TRIM_THRESHOLD, M_MMAP_THRESHOLD in malloc.h
    static int configured;

    /// <summary>Whether glibc was told to keep freed memory (false off Linux, without glibc, or with the user's own tunables).</summary>
    public static bool Kept { get; private set; }

    /// <summary>Once per process, before the first tensor of a run.</summary>
    public static void KeepFreedMemory()
    {
        if (Interlocked.Exchange(ref configured, 1) == 1) return;
        if (!OperatingSystem.IsLinux() || (Environment.GetEnvironmentVariable("GLIBC_TUNABLES") ?? "").Contains("glibc.malloc.", StringComparison.Ordinal)) return;
        try { Kept = mallopt(MmapThreshold, 256 << 20) == 1 && mallopt(TrimThreshold, 1 << 30) == 1; }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException) { }   // musl and others: their own allocator
    }

    // DllImport, not LibraryImport: two ints need no marshalling code, and LibraryImport would need unsafe on.
    [DllImport("libc")]
    static extern int mallopt(int param, int value);
}
