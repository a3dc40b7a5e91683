using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace WeSaR.Model.Tests;

public sealed class NativeHeapTests
{
    static long ResidentBytes() => long.Parse(File.ReadAllText("/proc/self/statm").Split(' ')[1]) * Environment.SystemPageSize;

    // glibc's mallinfo2 (2.33+): hblkhd is the bytes it holds in mmapped blocks, for all threads' arenas together.
    [StructLayout(LayoutKind.Sequential)]
    struct MallInfo2 { public nuint Arena, Ordblks, Smblks, Hblks, Hblkhd, Usmblks, Fsmblks, Uordblks, Fordblks, Keepcost; }

    [DllImport("libc")]
    static extern MallInfo2 mallinfo2();

    [Fact]
    public void Freed_tensor_memory_stays_in_the_process_for_the_next_step()
    {
        if (!OperatingSystem.IsLinux()) return;
        NativeHeap.KeepFreedMemory();
        Assert.True(NativeHeap.Kept, "glibc on Linux without GLIBC_TUNABLES: mallopt must have been applied");
        // Four 8 MiB tensors, the size of a step's activations: glibc's defaults serve blocks this large by mmap and
        // unmap them on free. Their pages may come from memory other tests freed (it stays, which is the point), so the
        // allocation is judged by where glibc put it, not by resident growth.
        var mmappedBefore = (long)mallinfo2().Hblkhd;
        var tensors = Enumerable.Range(0, 4).Select(_ => ones(2L << 20)).ToList();
        var mmapped = (long)mallinfo2().Hblkhd - mmappedBefore;
        Assert.True(mmapped < 8L << 20, $"{mmapped >> 20} MiB of the 32 MiB of tensors were served by mmap");
        var allocated = ResidentBytes();
        foreach (var t in tensors) t.Dispose();
        var after = ResidentBytes();
        Assert.True(allocated - after < 8L << 20, $"freeing 32 MiB gave {(allocated - after) >> 20} MiB back to the kernel");
    }
}
