# Manual smoke test of udisc.exe on a real Windows 10/11 machine.
#
# Nothing in CI can run the Windows iSCSI initiator (Wine has none), so this
# is how the initiator path gets checked. Run it in an elevated PowerShell
# from the folder that holds udisc.exe:
#
#   powershell -ExecutionPolicy Bypass -File windows-smoke.ps1 -Image C:\path\disc.iso
#
# It installs the service, mounts the image, reads a file through the drive
# letter, ejects, inserts, unmounts and uninstalls the service, printing each
# step. Send back the whole output (udisc-smoke.log beside this script) and
# your Windows version (winver), e.g. by opening an issue.
param(
  [Parameter(Mandatory = $true)][string]$Image,
  [string]$Udisc = (Join-Path $PSScriptRoot 'udisc.exe')
)
$ErrorActionPreference = 'Continue'
$log = Join-Path $PSScriptRoot 'udisc-smoke.log'
Start-Transcript -Path $log -Force | Out-Null
$failed = 0
function Step($name, [scriptblock]$body) {
  Write-Host "=== $name"
  try {
    & $body
    if ($LASTEXITCODE -ne 0 -and $LASTEXITCODE -ne $null) { throw "exit status $LASTEXITCODE" }
    Write-Host "--- ok: $name"
  } catch {
    Write-Host "--- FAILED: $name : $_"
    $script:failed++
  }
}

[System.Environment]::OSVersion | Format-List | Out-String | Write-Host
Step 'doctor' { & $Udisc doctor }
Step 'service install' { & $Udisc service install }
Step 'mount' {
  $json = & $Udisc mount --json $Image
  Write-Host $json
  $script:drive = ($json | ConvertFrom-Json)
  if (-not $script:drive.letter) { throw 'no drive letter in the reply' }
}
Step 'device in Windows' {
  Get-CimInstance Win32_CDROMDrive | Format-List Name, Drive, MediaLoaded, SCSITargetId | Out-String | Write-Host
}
Step 'read a file through the drive letter' {
  $root = $script:drive.letter + '\'
  $file = Get-ChildItem -Path $root -Recurse -File -ErrorAction Stop | Select-Object -First 1
  if (-not $file) { throw "no file on $root" }
  $hash = Get-FileHash -Algorithm SHA256 $file.FullName
  Write-Host "$($file.FullName) $($file.Length) bytes SHA256 $($hash.Hash)"
}
Step 'list' { & $Udisc list }
Step 'eject refused while a file is open' {
  $path = (Get-ChildItem -Path ($script:drive.letter + '\') -Recurse -File | Select-Object -First 1).FullName
  $stream = [System.IO.File]::OpenRead($path)
  & $Udisc eject $script:drive.letter
  $code = $LASTEXITCODE
  $stream.Close()
  if ($code -eq 0) { throw 'eject succeeded although a file was open' }
  $global:LASTEXITCODE = 0
}
Step 'eject' { & $Udisc eject $script:drive.letter }
Step 'insert (media change)' { & $Udisc insert $script:drive.letter $Image; Start-Sleep -Seconds 3; Get-ChildItem ($script:drive.letter + '\') | Select-Object -First 3 | Out-String | Write-Host }
Step 'unmount' { & $Udisc unmount $script:drive.letter }
Step 'no iSCSI session left' {
  $left = & iscsicli SessionList
  Write-Host ($left | Out-String)
  if ($left -match 'udisc') { throw 'a udisc session is still there' }
}
Step 'service uninstall' { & $Udisc service uninstall }
Write-Host "=== $failed step(s) failed. Send $log back."
Stop-Transcript | Out-Null
