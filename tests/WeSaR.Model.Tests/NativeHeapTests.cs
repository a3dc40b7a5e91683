using static TorchSharp.torch;

namespace WeSaR.Model.Tests;

public sealed class NativeHeapTests
{
    static long ResidentBytes() => long.Parse(File.ReadAllText("/proc/self/statm").Split(' ')[1]) * Environment.SystemPageSize;

    [Fact]
    public void Freed_tensor_memory_stays_in_the_process_for_the_next_step()
    {
        if (!OperatingSystem.IsLinux()) return;
        NativeHeap.KeepFreedMemory();
        Assert.True(NativeHeap.Kept, "glibc on Linux without GLIBC_TUNABLES: mallopt must have been applied");
        // Four 8 MiB tensors, the size of a step's activations: glibc's defaults serve blocks this large by mmap (or trim
        // them from the heap top), so their free would hand the pages back at once.
        var before = ResidentBytes();
        var tensors = Enumerable.Range(0, 4).Select(_ => ones(2L << 20)).ToList();
        var allocated = ResidentBytes();
        Assert.True(allocated - before > 24L << 20, $"the tensors' pages were not touched: {before} -> {allocated}");
        foreach (var t in tensors) t.Dispose();
        var after = ResidentBytes();
        Assert.True(allocated - after < 8L << 20, $"freeing 32 MiB gave {(allocated - after) >> 20} MiB back to the kernel");
    }
}
