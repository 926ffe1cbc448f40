; Inno Setup script for Quarry on Windows. Build the onedir bundle first on Windows:
;   py -3.11 -m venv .venv && .venv\Scripts\pip install -e . pyinstaller
;   (llama-cpp-python needs Visual Studio Build Tools + CMake; CMAKE_ARGS=-DGGML_NATIVE=OFF)
;   .venv\Scripts\pyinstaller --noconfirm installer\quarry.spec
; then compile this script with Inno Setup 6: iscc installer\windows\quarry.iss
; The bundle must contain the OpenMP runtime llama.cpp links against (vcomp140.dll from the
; Visual C++ redistributable); see installer/README.md.

#define AppName "Quarry"
#define AppVersion "0.1.0"
#define BundleDir "..\..\dist\quarry"

[Setup]
AppId={{6B0F5D8E-3C1A-4E7B-9D55-8A2C41F0B7A3}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=Quarry
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
OutputDir=..\..\dist
OutputBaseFilename=quarry-setup-{#AppVersion}
SetupIconFile=..\..\resources\icons\quarry.ico
UninstallDisplayIcon={app}\quarry-gui.exe
Compression=lzma2/max
SolidCompression=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
WizardStyle=modern

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
; The OpenMP runtime for llama.cpp's CPU backend (copy it into the bundle before building).
Source: "{#BundleDir}\vcomp140.dll"; DestDir: "{app}"; Flags: ignoreversion skipifsourcedoesntexist

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\quarry-gui.exe"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\quarry-gui.exe"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked

[Run]
Filename: "{app}\quarry-gui.exe"; Description: "Start Quarry"; Flags: nowait postinstall skipifsilent
