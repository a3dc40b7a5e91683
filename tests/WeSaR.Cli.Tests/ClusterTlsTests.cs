using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using WeSaR.TestSupport;

namespace WeSaR.Cli.Tests;

/// <summary>Remoting over TLS with a self-signed certificate: members that share it form a cluster and take sweeps; others stay out.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterTlsTests : IDisposable
{
    static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);
    const string Password = "test-only-password";
    readonly TempDir dir = TestEnv.NewTempDir();
    readonly List<RunningWesar> processes = [];

    public void Dispose()
    {
        foreach (var p in processes) p.Dispose();
        dir.Dispose();
    }

    string SelfSigned(string name)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var path = Path.Combine(dir.Path, name + ".pfx");
        File.WriteAllBytes(path, cert.Export(X509ContentType.Pfx, Password));
        return path;
    }

    RunningWesar Start(string name, int port, int seed, string? certificate, params string[] extra)
    {
        string[] tls = certificate is null ? [] : ["--set", "orchestrator.cluster.tls.enabled=on", "--set", $"orchestrator.cluster.tls.certificate={certificate}"];
        var p = new RunningWesar(new Dictionary<string, string> { ["WESAR_TLS_PASSWORD"] = Password },
            ["--workdir", Path.Combine(dir.Path, name), "node", "--port", port.ToString(), "--seed", $"127.0.0.1:{seed}", "--set", "orchestrator.slots.cpu=1", .. tls, .. extra]);
        processes.Add(p);
        return p;
    }

    [Fact]
    public void Nodes_sharing_a_self_signed_certificate_form_a_cluster_and_run_a_sweep_while_plain_and_foreign_nodes_are_refused()
    {
        var cluster = SelfSigned("wesar-cluster");
        var stranger = SelfSigned("stranger");
        var (pa, pb, pc, pd) = (FreePort.Next(), FreePort.Next(), FreePort.Next(), FreePort.Next());

        var a = Start("a", pa, pa, cluster);
        a.WaitFor(l => l.Contains($"member up: akka.ssl.tcp://wesar@127.0.0.1:{pa}"), Patience);
        var b = Start("b", pb, pa, cluster, "--roles", "trainer");
        a.WaitFor(l => l.Contains($"member up: akka.ssl.tcp://wesar@127.0.0.1:{pb}"), Patience);

        var plain = Start("plain", pc, pa, null, "--roles", "trainer");
        var foreign = Start("foreign", pd, pa, stranger, "--roles", "trainer");
        Thread.Sleep(TimeSpan.FromSeconds(15));   // several join attempts of both
        Assert.DoesNotContain($"127.0.0.1:{pc}", a.Output);
        Assert.DoesNotContain($"127.0.0.1:{pd}", a.Output);
        Assert.DoesNotContain("member up", plain.Output);
        Assert.DoesNotContain("member up", foreign.Output);

        // A client must speak TLS with the same certificate too.
        var file = TestSweeps.Write(dir.Path, "tls", "run.seed = [1]", 20);
        var client = new RunningWesar(new Dictionary<string, string> { ["WESAR_TLS_PASSWORD"] = Password },
            "--workdir", Path.Combine(dir.Path, "client"), "sweep", "run", file, "--cluster", $"127.0.0.1:{pa}",
            "--set", "orchestrator.cluster.tls.enabled=on", "--set", $"orchestrator.cluster.tls.certificate={cluster}");
        processes.Add(client);
        Assert.True(client.WaitForExit(Patience) == 0, client.Output + a.Output + b.Output);
        Assert.Contains("(completed)", client.Output);
    }
}
