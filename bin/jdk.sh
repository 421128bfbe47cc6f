# Sourced by bin/baton and .ci/run: finds a JDK >= 25 and exports JAVA_HOME.
# Order: $JAVA_HOME, then the standard install directories. Fails with what to install when none is found.
baton_java_major() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 \
    | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1
}
baton_find_jdk() {
  local candidate major
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/* /usr/java/* /opt/java/* /opt/jdk* "$HOME"/.sdkman/candidates/java/*; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/javac" ] || continue
    major=$(baton_java_major "$candidate")
    if [ -n "$major" ] && [ "$major" -ge 25 ]; then
      export JAVA_HOME="$candidate"
      return 0
    fi
  done
  echo "baton: no JDK 25 or newer found (looked at \$JAVA_HOME and /usr/lib/jvm, /usr/java, /opt)." >&2
  echo "baton: install one, e.g. 'apt-get install temurin-25-jdk' (Adoptium) or a JDK 25 tarball, then set JAVA_HOME." >&2
  return 1
}
