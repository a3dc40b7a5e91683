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
    public sealed record HeapUsage(long InUse, long Free, long Mapped);

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

    /// <summary>glibc's account of the C heap over all arenas, in bytes: held by live blocks (LibTorch's tensors among them;
    /// <c>Mapped</c> of them in blocks of their own from mmap), and freed but kept for reuse. Null off glibc.</summary>
    public static HeapUsage? Usage()
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            var m = mallinfo2();
            return new HeapUsage((long)(m.Uordblks + m.Hblkhd), (long)m.Fordblks, (long)m.Hblkhd);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException) { return null; }
    }

    /// <summary>Hands the heap's free memory back to the kernel now (malloc_trim); false where there is nothing to call.</summary>
    public static bool Trim()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try { malloc_trim(0); return true; }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException) { return false; }
    }

    // DllImport, not LibraryImport: plain values need no marshalling code, and LibraryImport would need unsafe on.
    [DllImport("libc")]
    static extern int mallopt(int param, int value);

    [DllImport("libc")]
    static extern int malloc_trim(nuint pad);

    [DllImport("libc")]
    static extern MallInfo2 mallinfo2();

    /// <summary>struct mallinfo2 of malloc.h (glibc 2.33 and later): ten size_t fields in this order.</summary>
    [StructLayout(LayoutKind.Sequential)]
    readonly struct MallInfo2
    {
        public readonly nuint Arena, Ordblks, Smblks, Hblks, Hblkhd, Usmblks, Fsmblks, Uordblks, Fordblks, Keepcost;
    }
}
