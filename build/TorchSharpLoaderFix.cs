#nullable enable
// MSBuild inline task (see Directory.Build.targets): makes TorchSharp 0.107.0's libLibTorchSharp.so load on
// systems whose libstdc++ predates GLIBCXX_3.4.32 (Debian 12, Ubuntu 22.04).
//
// The library needs that version for one symbol only, std::ios_base_library_init(), which GCC 13's <iostream>
// references as a link-time marker and never calls. Marking the version requirement weak (VER_FLG_WEAK in
// .gnu.version_r) lets the loader accept a libstdc++ without it. The task refuses to do so if any relocation
// would bind a symbol of that version, because then the fix would be luck rather than a fix.
// Writes a marker file next to the library that `wesar doctor` reports.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class TorchSharpLoaderFix : Task
{
    const string Version = "GLIBCXX_3.4.32";
    const uint ShtDynsym = 11, ShtRela = 4, ShtVerneed = 0x6ffffffe, ShtVersym = 0x6fffffff;
    const ushort VerFlgWeak = 0x2;

    [Required] public string NativeDir { get; set; } = "";

    public override bool Execute()
    {
        var lib = Path.Combine(NativeDir, "libLibTorchSharp.so");
        if (!File.Exists(lib)) return true;
        var marker = Path.Combine(NativeDir, "wesar-loader-fix.txt");
        var systemLib = FindSystemLibStdCxx();
        if (systemLib != null && Contains(File.ReadAllBytes(systemLib), Encoding.ASCII.GetBytes(Version + "\0")))
        {
            File.WriteAllText(marker, $"not needed: {systemLib} provides {Version}\n");
            return true;
        }
        try
        {
            var data = File.ReadAllBytes(lib);
            var result = MarkWeak(data);
            if (result == "patched")
            {
                var tmp = lib + ".tmp";
                File.WriteAllBytes(tmp, data);
                File.Delete(lib); // replacing the file also breaks any hard link into the NuGet cache
                File.Move(tmp, lib);
            }
            var note = result == "absent" ? $"not needed: the library does not require {Version}" : $"applied: {Version} marked weak in {lib}";
            File.WriteAllText(marker, note + "\n");
            Log.LogMessage(MessageImportance.High, "TorchSharp loader fix: " + note);
            return true;
        }
        catch (InvalidDataException e)
        {
            Log.LogError($"TorchSharp loader fix failed for {lib}: {e.Message}");
            return false;
        }
    }

    static string? FindSystemLibStdCxx() =>
        new[] { "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib" }
            .Select(d => Path.Combine(d, "libstdc++.so.6")).FirstOrDefault(File.Exists);

    static bool Contains(byte[] hay, byte[] needle)
    {
        for (var i = 0; i <= hay.Length - needle.Length; i++)
        {
            var j = 0;
            while (j < needle.Length && hay[i + j] == needle[j]) j++;
            if (j == needle.Length) return true;
        }
        return false;
    }

    sealed class Section
    {
        public uint Type, Link, Info;
        public ulong Offset, Size, EntSize;
    }

    // Returns "patched", "already" or "absent"; throws InvalidDataException when the fix would be unsafe.
    static string MarkWeak(byte[] d)
    {
        if (d.Length < 64 || d[0] != 0x7f || d[1] != (byte)'E' || d[4] != 2 || d[5] != 1)
            throw new InvalidDataException("not a 64-bit little-endian ELF file");
        var shoff = U64(d, 0x28);
        int shentsize = U16(d, 0x3A), shnum = U16(d, 0x3C);
        var secs = Enumerable.Range(0, shnum).Select(i =>
        {
            var o = (int)shoff + i * shentsize;
            return new Section { Type = U32(d, o + 4), Offset = U64(d, o + 24), Size = U64(d, o + 32), Link = U32(d, o + 40), Info = U32(d, o + 44), EntSize = U64(d, o + 56) };
        }).ToList();

        var verneed = secs.Single(s => s.Type == ShtVerneed);
        var strtab = secs[(int)verneed.Link].Offset;
        int? versionIndex = null, flagsAt = null;
        var vn = (int)verneed.Offset;
        for (var i = 0; i < verneed.Info; i++)
        {
            var aux = vn + (int)U32(d, vn + 8);
            for (var j = 0; j < U16(d, vn + 2); j++)
            {
                if (CString(d, strtab + U32(d, aux + 8)) == Version) { flagsAt = aux + 4; versionIndex = U16(d, aux + 6); }
                aux += (int)U32(d, aux + 12);
            }
            vn += (int)U32(d, vn + 12);
        }
        if (flagsAt == null) return "absent";
        if ((U16(d, flagsAt.Value) & VerFlgWeak) != 0) return "already";

        var bound = BoundSymbolsOfVersion(d, secs, versionIndex!.Value);
        if (bound.Count > 0)
            throw new InvalidDataException($"relocations bind {string.Join(", ", bound)} at {Version}; a weak version is not enough");
        var flags = (ushort)(U16(d, flagsAt.Value) | VerFlgWeak);
        d[flagsAt.Value] = (byte)flags;
        d[flagsAt.Value + 1] = (byte)(flags >> 8);
        return "patched";
    }

    // Names of dynamic symbols with the given version index that some relocation refers to.
    static List<string> BoundSymbolsOfVersion(byte[] d, List<Section> secs, int versionIndex)
    {
        var dynsymIndex = secs.FindIndex(s => s.Type == ShtDynsym);
        var dynsym = secs[dynsymIndex];
        var versym = secs.Single(s => s.Type == ShtVersym);
        var names = secs[(int)dynsym.Link].Offset;
        var ofVersion = new HashSet<ulong>();
        for (ulong i = 0; i < dynsym.Size / 24; i++)
            if ((U16(d, (int)(versym.Offset + 2 * i)) & 0x7fff) == versionIndex) ofVersion.Add(i);
        var bound = new List<string>();
        foreach (var rela in secs.Where(s => s.Type == ShtRela && s.Link == dynsymIndex))
            for (ulong o = rela.Offset; o < rela.Offset + rela.Size; o += rela.EntSize)
            {
                var sym = U64(d, (int)o + 8) >> 32;
                if (ofVersion.Contains(sym)) bound.Add(CString(d, names + U32(d, (int)(dynsym.Offset + 24 * sym))));
            }
        return bound;
    }

    static ushort U16(byte[] d, int o) => BitConverter.ToUInt16(d, o);
    static uint U32(byte[] d, int o) => BitConverter.ToUInt32(d, o);
    static ulong U64(byte[] d, int o) => BitConverter.ToUInt64(d, o);
    static string CString(byte[] d, ulong o) => Encoding.ASCII.GetString(d, (int)o, Array.IndexOf(d, (byte)0, (int)o) - (int)o);
}
