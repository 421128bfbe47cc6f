/**
 * Child JVMs for Baton's tools and tests. See {@link dev.baton.process.ChildJvm}. JDK only.
 */
module dev.baton.process {
    exports dev.baton.process;
}
