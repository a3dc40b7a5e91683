using static TorchSharp.torch;

namespace WeSaR.Model.Tests;

public sealed class NativeHeapTests
{
    static long ResidentBytes() => long.Parse(File.ReadAllText("/proc/self/statm").Split(' ')[1]) * Environment.SystemPageSize;

    static NativeHeap.HeapUsage Heap() => NativeHeap.Usage() ?? throw new InvalidOperationException("glibc on Linux must report its heap");

    [Fact]
    public void Freed_tensor_memory_stays_in_the_process_for_the_next_step()
    {
        if (!OperatingSystem.IsLinux()) return;
        NativeHeap.KeepFreedMemory();
        Assert.True(NativeHeap.Kept, "glibc on Linux without GLIBC_TUNABLES: mallopt must have been applied");
        // Four 8 MiB tensors, the size of a step's activations: glibc's defaults serve blocks this large by mmap and
        // unmap them on free. Their pages may come from memory other tests freed (it stays, which is the point), so the
        // allocation is judged by where glibc put it, not by resident growth.
        var mmappedBefore = Heap().Mapped;
        var tensors = Enumerable.Range(0, 4).Select(_ => ones(2L << 20)).ToList();
        var mmapped = Heap().Mapped - mmappedBefore;
        Assert.True(mmapped < 8L << 20, $"{mmapped >> 20} MiB of the 32 MiB of tensors were served by mmap");
        var allocated = ResidentBytes();
        foreach (var t in tensors) t.Dispose();
        var after = ResidentBytes();
        Assert.True(allocated - after < 8L << 20, $"freeing 32 MiB gave {(allocated - after) >> 20} MiB back to the kernel");
    }

    [Fact]
    public void Heap_usage_counts_live_tensors_and_the_free_memory_it_keeps_until_trimmed()
    {
        if (!OperatingSystem.IsLinux()) return;
        NativeHeap.KeepFreedMemory();
        var before = Heap();
        var tensors = Enumerable.Range(0, 4).Select(_ => ones(2L << 20)).ToList();   // 32 MiB
        var live = Heap();
        Assert.True(live.InUse - before.InUse >= 31L << 20, $"32 MiB of tensors raised the heap's in-use bytes by {(live.InUse - before.InUse) >> 20} MiB");
        foreach (var t in tensors) t.Dispose();
        var freed = Heap();
        Assert.True(live.InUse - freed.InUse >= 31L << 20, $"freeing them lowered in-use bytes by {(live.InUse - freed.InUse) >> 20} MiB");
        Assert.True(freed.Free >= 31L << 20, $"glibc keeps only {freed.Free >> 20} MiB free after 32 MiB were freed");
        var resident = ResidentBytes();
        Assert.True(NativeHeap.Trim());
        Assert.True(resident - ResidentBytes() >= 16L << 20, $"malloc_trim handed back {(resident - ResidentBytes()) >> 20} MiB of the kept 32 MiB");
    }
}
